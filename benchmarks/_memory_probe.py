"""Child process of the memory benchmark: fit a memmap, print peak memory as JSON.

``python -m benchmarks._memory_probe PATH N_ROWS N_FEATURES BATCH_SIZE [MODE]``

MODE ``stream`` (default) fits the memory map itself; ``memory`` first
reads it into a numpy array (counted in the peak), the in-memory reference.

Run in a fresh process so that its peak resident memory (VmHWM) belongs to
this fit alone: the baseline is taken after the imports and a first torch
run, then the peak is reset (``/proc/self/clear_refs``).
"""

import json
import resource
import sys
import threading
import time

import numpy as np
import torch

from .scale import make_model


def _status_kib(keys=("RssAnon", "RssFile")):
    """Lines of /proc/self/status (Linux), in KiB."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in keys:
                values[key] = int(rest.split()[0])
    return values


def _peak_kib():
    """Peak resident memory since the last reset (VmHWM), in KiB; ``ru_maxrss``
    without /proc (on Linux it also keeps marks that no reset clears)."""
    try:
        return _status_kib(("VmHWM",))["VmHWM"]
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Sampler(threading.Thread):
    """Records the largest RssAnon and RssFile seen, every 20 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = {"RssAnon": 0, "RssFile": 0}
        self.running = True

    def run(self):
        while self.running:
            for key, value in _status_kib().items():
                self.peak[key] = max(self.peak[key], value)
            time.sleep(0.02)


def main(argv):
    path, n_rows, n_features, batch_size, *rest = argv
    mode = rest[0] if rest else "stream"
    shape = (int(n_rows), int(n_features))
    torch.set_num_threads(1)
    model = make_model(1, batch_size=int(batch_size))
    # Warm up torch (allocator, kernels) on a few rows so the baseline has it.
    make_model(1).fit(np.random.RandomState(0).uniform(size=(64, 8)))
    try:  # Linux >= 4.0: reset the peak resident memory to the current one
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass
    baseline_kib = _peak_kib()
    status_baseline_kib = _status_kib()
    sampler = Sampler()
    sampler.start()
    start = time.perf_counter()
    X = np.memmap(path, dtype=np.float32, mode="r", shape=shape)
    if mode == "memory":
        X = np.array(X)
    model.fit(X)
    seconds = time.perf_counter() - start
    sampler.running = False
    sampler.join()
    peak_kib = _peak_kib()
    # The sampled split: anonymous memory (arrays, tensors) and pages of
    # mapped files (the data file, shared libraries).
    anon, file = (sampler.peak[k] - status_baseline_kib[k] for k in sampler.peak)
    report = dict(baseline_bytes=baseline_kib * 1024, peak_bytes=peak_kib * 1024)
    report.update(peak_extra_bytes=(peak_kib - baseline_kib) * 1024)
    report.update(peak_anon_extra_bytes=1024 * anon, peak_file_extra_bytes=1024 * file)
    report.update(fit_seconds=seconds, n_rows=shape[0], n_features=shape[1])
    report.update(batch_size=int(batch_size), epochs=model.n_iter_, mode=mode)
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
