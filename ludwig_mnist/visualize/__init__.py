"""`ludwig-mnist visualize`: Ludwig 0.10's visualizations of classifier results, from the statistics and
predictions files this tool (or Ludwig 0.10) writes."""
