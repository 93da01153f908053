"""Run a functional Keras model eagerly, layer by layer, so that GradientTape sees every intermediate tensor.

The saved models take uint8 pixels (B, H, W, C); a gradient cannot flow into integers, so the trace starts at
float32 pixels on the same 0..255 scale (the model's first layer divides by 255).  Nested functional models
(the keras.applications backbones, written torchvision families) are walked into, so their last
convolutional feature map is reachable for Grad-CAM.  Every layer runs with training=False (dropout off,
batch-norm on its moving statistics), as at prediction time.

This reads Keras 3's functional graph (``_nodes_by_depth``, ``node.arguments``), the same walk that
``Functional.call`` does; tests/test_explain.py checks that the trace reproduces ``model.predict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
from keras import ops

CONV_TYPES = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
PADDING = (keras.layers.ZeroPadding2D,)


@dataclass
class Trace:
    """One eager pass: ``maps`` are (name, tensor (B, h, w, c)) in execution order, recorded from the first
    convolution on; ``logits`` (B, K) are the output layer's pre-activation scores."""

    maps: list = field(default_factory=list)
    logits: object = None
    seen_conv: bool = False


def _call(operation, args, kwargs):
    kwargs = dict(kwargs)
    if "training" in getattr(operation, "call_signature_parameters", ()):
        kwargs["training"] = False
    return operation(*args, **kwargs)


def _walk(model: keras.Model, inputs, trace: Trace, prefix: str, outermost: bool):
    tensors = {id(model.inputs[0]): inputs}
    final = model.outputs[0]
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            if node.is_input or any(id(t) not in tensors for t in node.input_tensors):
                continue
            args, kwargs = node.arguments.fill_in(tensors)
            operation = node.operation
            name = f"{prefix}{operation.name}"
            if isinstance(operation, keras.Model):
                outputs = _walk(operation, args[0], trace, f"{name}/", outermost=False)
            elif outermost and node.outputs[0] is final and isinstance(operation, keras.layers.Dense):
                # the class scores before softmax/sigmoid: gradients of a saturated probability vanish
                logits = ops.matmul(args[0], operation.kernel)
                trace.logits = logits + operation.bias if operation.use_bias else logits
                outputs = operation.activation(trace.logits)
            else:
                outputs = _call(operation, args, kwargs)
            trace.seen_conv = trace.seen_conv or isinstance(operation, CONV_TYPES)
            flat = keras.tree.flatten(outputs)
            for reference, value in zip(node.outputs, flat):
                tensors[id(reference)] = value
            # zero padding enlarges a map without evidence (a 1x1 map padded to 3x3): never a Grad-CAM target
            if trace.seen_conv and len(flat) == 1 and len(flat[0].shape) == 4 and not isinstance(operation, PADDING):
                trace.maps.append((name, flat[0]))
    return tensors[id(final)]


def trace_model(model: keras.Model, pixels) -> tuple[object, Trace]:
    """pixels: float32 (B, H, W, C) on 0..255 → (model output (B, K), Trace)."""
    trace = Trace()
    outputs = _walk(model, pixels, trace, "", outermost=True)
    if trace.logits is None:
        raise ValueError("the model's output layer is not a Dense layer; it cannot be explained")
    return outputs, trace


def class_scores(logits, classes):
    """logits (B, K), classes (B,) int → (B,) the score of each row's class; a one-logit binary output
    scores class 1 by its logit and class 0 by minus it."""
    if logits.shape[-1] == 1:
        sign = ops.cast(classes, "float32") * 2.0 - 1.0
        return logits[:, 0] * sign
    return ops.sum(logits * ops.one_hot(classes, logits.shape[-1]), axis=-1)
