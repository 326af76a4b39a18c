"""Label-model benchmark entry point. All logic lives in wsbench.run.labelmodel.

python experiments/labelmodel.py [estimator=dawid_skene] [dataset=synthetic_ds] [debug=smoke]
python experiments/labelmodel.py -m estimator='glob(*)' seeds=3 [launcher=basic|local|slurm]
python experiments/labelmodel.py experiment=quickstart      # the README's main job
"""

import hydra
from omegaconf import DictConfig

from wsbench.run import labelmodel
from wsbench.run.sweep import run_interruptible


@hydra.main(version_base="1.3", config_path="../conf", config_name="labelmodel")
def main(cfg: DictConfig) -> float:
    return labelmodel.run(cfg)["objective"]


if __name__ == "__main__":
    run_interruptible(main)  # Ctrl-C: one line, exit code 130
