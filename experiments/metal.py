"""MeTaL entry point (multi-task label model + multi-task end model vs baselines). Logic: wsbench.run.metal.

python experiments/metal.py                                  # synthetic hierarchical task
python experiments/metal.py experiment=metal_smoke           # tiny smoke run
python experiments/metal.py experiment=metal_chest_xray      # the real chest X-ray task (table)
python experiments/metal.py experiment=metal_chemprot        # the real ChemProt task (table)
"""

import hydra
from omegaconf import DictConfig

from wsbench.run import metal
from wsbench.run.sweep import run_interruptible


@hydra.main(version_base="1.3", config_path="../conf", config_name="metal")
def main(cfg: DictConfig) -> float:
    return metal.run(cfg)["objective"]


if __name__ == "__main__":
    run_interruptible(main)  # Ctrl-C: one line, exit code 130
