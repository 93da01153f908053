"""Visualization names, importable without matplotlib (the CLI's parser lists them at every start)."""

# Ludwig 0.10's ludwig.visualize.get_visualizations_registry(), sorted
LUDWIG_VISUALIZATIONS = (
    "binary_threshold_vs_metric", "calibration_1_vs_all", "calibration_multiclass",
    "compare_classifiers_multiclass_multimetric", "compare_classifiers_performance_changing_k",
    "compare_classifiers_performance_from_pred", "compare_classifiers_performance_from_prob",
    "compare_classifiers_performance_subset", "compare_classifiers_predictions",
    "compare_classifiers_predictions_distribution", "compare_performance", "confidence_thresholding",
    "confidence_thresholding_2thresholds_2d", "confidence_thresholding_2thresholds_3d",
    "confidence_thresholding_data_vs_acc", "confidence_thresholding_data_vs_acc_subset",
    "confidence_thresholding_data_vs_acc_subset_per_class", "confusion_matrix", "frequency_vs_f1",
    "hyperopt_hiplot", "hyperopt_report", "learning_curves", "precision_recall_curves",
    "precision_recall_curves_from_test_statistics", "roc_curves", "roc_curves_from_test_statistics",
)

# what registry.VISUALIZATIONS draws, in its order (registry checks they agree)
SUPPORTED = (
    "learning_curves", "compare_performance", "confusion_matrix", "frequency_vs_f1",
    "compare_classifiers_performance_from_prob", "compare_classifiers_performance_changing_k",
    "compare_classifiers_predictions", "roc_curves", "precision_recall_curves", "binary_threshold_vs_metric",
    "calibration_1_vs_all", "calibration_multiclass", "confidence_thresholding",
)

# ludwig-mnist's own: one HTML report comparing experiments run separately (visualize/experiments.py)
COMPARE_EXPERIMENTS = "compare_experiments"
