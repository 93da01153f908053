"""Explanations: which pixels a trained classifier's decision rests on.

    graph.py    runs a saved Keras model eagerly on float pixels, recording every layer's output (nested
                backbones included) and the output layer's logits, so GradientTape sees all of them
    methods.py  the METHODS registry: Grad-CAM (Selvaraju et al. 2017) on the last convolutional feature
                map, integrated gradients (Sundararajan et al. 2017) from a black image
    choose.py   which rows are explained: per class, the most confident correct and misclassified
                predictions, or rows named by their image path (pure numpy)
    overlay.py  a heatmap over its image as PNG bytes (matplotlib colormap, Pillow blend)
    outputs.py  the `Explanations` result the reports render, and its files: overlays/*.png and
                attributions.npz (arrays plus the image paths they belong to)
    run.py      `explain_rows`: choose, attribute, package; the one entry the pipelines call

Only graph.py, methods.py and run.py import TensorFlow; reports read `Explanations` alone.
"""
