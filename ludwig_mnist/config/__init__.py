"""Config stage: Ludwig YAML → frozen, typed config objects (parsed once, read everywhere).

    checks.py   value checks and the generic builder (unknown keys rejected with a suggestion)
    layers.py   conv and fc layer schemas
    schema.py   every other section (features, combiner, trainer, preprocessing): ExperimentConfig
    upgrade.py  older Ludwig spellings → current ones, before parsing
    load.py     parse_config / load_config
    hyperopt.py grids and Ludwig hyperopt sections → validated configurations (for compare)

Encoder schemas live with their builders in model/encoders.py (one registry), which imports checks.py and
layers.py; this file re-exports nothing, so importing either side first never meets a half-built module.
"""
