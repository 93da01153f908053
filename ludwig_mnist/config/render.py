"""`render-config`: a config fully resolved (every default explicit, Ludwig's key names) as YAML text.

The dict is ``ExperimentConfig.to_dict()``, the same one a trained model's model_hyperparameters.json holds, so
what a user reads here is what the experiment will build; it parses back to the same config.
"""

from __future__ import annotations

import yaml

from .schema import ExperimentConfig


def render_config(config: ExperimentConfig, source: str) -> str:
    header = [f"# {source}, fully resolved by ludwig-mnist render-config: every key with the value training uses."]
    header += [f"# {note}" for note in config.notes]
    body = yaml.safe_dump(config.to_dict(), sort_keys=False, default_flow_style=None, width=110)
    return "\n".join(header) + "\n" + body
