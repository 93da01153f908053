"""Ludwig-compatible image classification experiments on Keras/TensorFlow."""

# The single source of the version: pyproject reads it, the Galaxy macros'
# @TOOL_VERSION@ must equal it (a test checks), and saved models record it.
__version__ = "0.1.0"
