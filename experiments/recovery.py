"""Parameter-recovery entry point. All logic lives in wsbench.run.recovery.

python experiments/recovery.py [estimator=dawid_skene] [generator=dependent] [debug=smoke]
python experiments/recovery.py experiment=recovery      # the recovery-rate figure's sweep
"""

import hydra
from omegaconf import DictConfig

from wsbench.run import recovery
from wsbench.run.sweep import run_interruptible


@hydra.main(version_base="1.3", config_path="../conf", config_name="recovery")
def main(cfg: DictConfig) -> float:
    return recovery.run(cfg)["objective"]


if __name__ == "__main__":
    run_interruptible(main)  # Ctrl-C: one line, exit code 130
