"""TANDA entry point (augmentation policies x seeds on one task). Logic: wsbench.run.tanda.

python experiments/tanda.py experiment=tanda_smoke                    # CPU smoke run (seconds)
python experiments/tanda.py experiment=tanda_cifar10 [launcher=slurm]  # CIFAR-10, 10% labels
python experiments/tanda.py experiment=tanda_pneumoniamnist
"""

import hydra
from omegaconf import DictConfig

from wsbench.run import tanda
from wsbench.run.sweep import run_interruptible


@hydra.main(version_base="1.3", config_path="../conf", config_name="tanda")
def main(cfg: DictConfig) -> float:
    return tanda.run(cfg)["objective"]


if __name__ == "__main__":
    run_interruptible(main)  # Ctrl-C: one line, exit code 130
