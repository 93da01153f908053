"""Which layers of a built network are its encoder: what transfer copies, freezes and unfreezes.

build_model marks them (``mark_encoder``) from the tensors that enter and leave the encoder builder, so the
set does not depend on layer names: the input adaptation before it and the combiner and decoder after it
(the head) are never part of it.  A saved model is rebuilt by build_model, so it is marked the same way.
"""

from __future__ import annotations

PART_ATTRIBUTE = "_ludwig_mnist_part"


def mark_encoder(encoder_input, encoder_output) -> list:
    """Tag every layer between the (B, H, W, C) encoder input and its (B, F) output as the encoder's; returns them."""
    import keras

    tagged = []
    seen: set[int] = set()
    stack = [encoder_output]
    stop = id(encoder_input)
    while stack:  # walk the graph back from the output to the input: Keras 3's node history
        tensor = stack.pop()
        if id(tensor) == stop:
            continue
        operation, node_index, _ = tensor._keras_history
        if id(operation) in seen:
            continue
        seen.add(id(operation))
        if isinstance(operation, keras.layers.InputLayer):
            raise ValueError("the encoder output does not derive from the encoder input")
        setattr(operation, PART_ATTRIBUTE, "encoder")
        tagged.append(operation)
        stack.extend(operation._inbound_nodes[node_index].input_tensors)
    return tagged


def encoder_layers(model) -> list:
    """The encoder's layers of `model`, in the model's (topological) order."""
    return [layer for layer in model.layers if getattr(layer, PART_ATTRIBUTE, None) == "encoder"]


def set_encoder_trainable(model, trainable: bool) -> None:
    """Freeze or unfreeze the whole encoder (nested backbones included); recompile before training on."""
    for layer in encoder_layers(model):
        layer.trainable = trainable
