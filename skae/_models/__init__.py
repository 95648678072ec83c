"""The skae models: each is its parameters, its torch module and its loss."""
