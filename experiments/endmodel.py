"""End-model entry point (label model -> soft labels -> noise-aware end model). Logic: wsbench.run.endmodel.

python experiments/endmodel.py [estimator=matrix_completion] [endmodel=mlp] [debug=smoke]
python experiments/endmodel.py experiment=scaling      # scaling with unlabeled data (figure)
"""

import hydra
from omegaconf import DictConfig

from wsbench.run import endmodel
from wsbench.run.sweep import run_interruptible


@hydra.main(version_base="1.3", config_path="../conf", config_name="endmodel")
def main(cfg: DictConfig) -> float:
    return endmodel.run(cfg)["objective"]


if __name__ == "__main__":
    run_interruptible(main)  # Ctrl-C: one line, exit code 130
