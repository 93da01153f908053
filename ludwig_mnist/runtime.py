"""Process-wide runtime setup (once, guarded): CPU threads, GPU memory growth, determinism, versions;
and per-run seeding.

setup_process() must run before TensorFlow executes its first op: thread pools cannot be resized afterwards.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from . import __version__
from .results import RunEnvironment
from .wording import plural


class Stopped(BaseException):
    """SIGTERM (Galaxy cancelling the job, the batch system's time limit) or SIGINT arrived.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way up swallows it and every
    ``finally`` (staging cleanup, the deleting thread's join) runs on the way out.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.name = signal.Signals(signum).name


@contextlib.contextmanager
def stop_on_signals(signums: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[None]:
    """Turn SIGTERM and SIGINT into Stopped in the main thread while the block runs; restore the handlers after.

    The default SIGTERM action kills the process on the spot, leaving the staging area (extracted images,
    the decode cache, a half-written model) in the output directory.  A second signal while cleaning up is
    ignored, so the cleanup finishes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread (notebooks, test runners)
        return
    stopping = False

    def handler(signum, frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise Stopped(signum)

    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def granted_cpu_threads() -> int:
    """Cores Galaxy granted this job (GALAXY_SLOTS), else the cores this process may use."""
    slots = os.environ.get("GALAXY_SLOTS", "").strip()
    if slots.isdigit() and int(slots) > 0:
        return int(slots)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_cgroup_paths = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")  # v2, v1


def granted_memory() -> tuple[int, str] | None:
    """(bytes, where from) this job may use: Galaxy's GALAXY_MEMORY_MB, else the cgroup's limit; None if unlimited.

    Galaxy sets GALAXY_MEMORY_MB when the job's destination has a memory limit; a container or a batch system
    enforces its limit through the cgroup, where the kernel's OOM killer ends a job that exceeds it.
    """
    text = os.environ.get("GALAXY_MEMORY_MB", "").strip()
    if text.isdigit() and int(text) > 0:
        return int(text) * 2**20, f"GALAXY_MEMORY_MB={text}"
    for path in _cgroup_paths:
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        if value.isdigit() and int(value) < 2**60:  # "max" or a huge number: no limit
            return int(value), f"the cgroup limit in {path}"
    return None


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ chatter out of the Galaxy job log; call before TensorFlow is imported.

    On a machine without an NVIDIA driver, TensorFlow logs a failed cuInit at
    ERROR level on every start, which reads like a failure to Galaxy users;
    there, only fatal C++ messages are shown (Python errors still raise).
    """
    has_nvidia = any(Path("/dev").glob("nvidia[0-9]*"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if has_nvidia else "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


_setup_lock = threading.Lock()
_environment: RunEnvironment | None = None  # set by the first setup_process(); never changed after


def setup_process() -> RunEnvironment:
    """Once per process, before TensorFlow runs its first op: thread pools, determinism, GPU memory growth.

    Thread pools cannot be resized and memory growth cannot be set once the devices are initialised, so a
    second call (a second run in one process: compare, k-fold, notebooks, tests) returns the first setup.
    """
    global _environment
    with _setup_lock:
        if _environment is not None:
            return _environment
        quiet_tensorflow()
        import tensorflow as tf

        threads = granted_cpu_threads()
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            # Two inter-op threads let the input pipeline overlap with compute
            # without oversubscribing the granted cores.
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:  # TensorFlow already ran an op in this process (imported and used by the caller)
            threads = tf.config.threading.get_intra_op_parallelism_threads() or threads
        # Same seed twice on CPU → identical statistics.
        tf.config.experimental.enable_op_determinism()
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            names = []
            for gpu in gpus:
                try:
                    tf.config.experimental.set_memory_growth(gpu, True)
                except RuntimeError:  # devices already initialised by the caller: growth stays as they set it
                    pass
                details = tf.config.experimental.get_device_details(gpu)
                names.append(details.get("device_name", gpu.name))
            device = "GPU: " + ", ".join(names)
        else:
            device = f"CPU ({plural(threads, 'thread')})"
        _environment = RunEnvironment(versions=library_versions(), device=device, threads=threads)
        return _environment


def seed_run(seed: int) -> None:
    """Every RNG (Python, NumPy, TensorFlow/Keras) from this run's seed; called at the start of each run."""
    import keras

    keras.utils.set_random_seed(seed)


def configure(seed: int) -> RunEnvironment:
    """The process setup (once) and this run's seed (every time)."""
    environment = setup_process()
    seed_run(seed)
    return environment


def library_versions() -> dict[str, str]:
    import keras
    import matplotlib
    import numpy
    import pandas
    import PIL
    import tensorflow as tf

    return {
        "ludwig_mnist": __version__,
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "pillow": PIL.__version__,
        "matplotlib": matplotlib.__version__,
        "platform": platform.platform(),
    }
