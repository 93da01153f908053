"""Ludwig-compatible image classification experiments on Keras/TensorFlow."""

# The single source of the version: pyproject reads it, the Galaxy macros'
# @TOOL_VERSION@ must equal it (a test checks), and saved models record it.
__version__ = "0.1.0"


def __getattr__(name: str):
    """``ludwig_mnist.LudwigModel``, imported on first use so that ``import ludwig_mnist`` stays light."""
    if name == "LudwigModel":
        from .api import LudwigModel

        return LudwigModel
    raise AttributeError(f"module 'ludwig_mnist' has no attribute {name!r}")
