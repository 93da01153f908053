"""Process-wide runtime setup: CPU threads, GPU detection, seeds, determinism, versions.

Must run before TensorFlow executes its first op: thread pools cannot be
resized afterwards.
"""

from __future__ import annotations

import os
import platform
import sys
from functools import lru_cache
from pathlib import Path

from . import __version__
from .results import RunEnvironment


def granted_cpu_threads() -> int:
    """Cores Galaxy granted this job (GALAXY_SLOTS), else the cores this process may use."""
    slots = os.environ.get("GALAXY_SLOTS", "").strip()
    if slots.isdigit() and int(slots) > 0:
        return int(slots)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ chatter out of the Galaxy job log; call before TensorFlow is imported.

    On a machine without an NVIDIA driver, TensorFlow logs a failed cuInit at
    ERROR level on every start, which reads like a failure to Galaxy users;
    there, only fatal C++ messages are shown (Python errors still raise).
    """
    has_nvidia = any(Path("/dev").glob("nvidia[0-9]*"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if has_nvidia else "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@lru_cache(maxsize=1)
def configure(seed: int) -> RunEnvironment:
    """Seed everything, make ops deterministic and size the thread pools. Returns what was set up."""
    quiet_tensorflow()
    import tensorflow as tf
    import keras

    threads = granted_cpu_threads()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        # Two inter-op threads let the input pipeline overlap with compute
        # without oversubscribing the granted cores.
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    except RuntimeError:  # already initialised (e.g. a second run in one test process)
        pass
    keras.utils.set_random_seed(seed)
    # Same seed twice on CPU → identical statistics.
    tf.config.experimental.enable_op_determinism()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for gpu in gpus:
            tf.config.experimental.set_memory_growth(gpu, True)
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name", gpu.name))
        device = "GPU: " + ", ".join(names)
    else:
        device = f"CPU ({threads} thread{'s' if threads != 1 else ''})"
    return RunEnvironment(versions=library_versions(), device=device, threads=threads)


def reseed(seed: int) -> None:
    """Reset all RNGs (configure() is cached per process; each run must still start from its seed)."""
    import keras

    keras.utils.set_random_seed(seed)


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
