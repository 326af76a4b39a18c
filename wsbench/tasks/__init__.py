"""Real weak-supervision tasks built from raw text with our own labeling functions.

Each module parses a raw corpus from the data mirror (via ``wsbench.data.fetch``), defines its LFs
with ``wsbench.lf``, applies them, and returns a ``wsbench.data.Dataset`` (L, gold y, fixed
splits):

- :mod:`wsbench.tasks.spam` — ``make_youtube``, ``make_sms`` (spam = 1, ham = 0);
- :mod:`wsbench.tasks.spouse` — ``make_spouse`` (spouse = 1);
- :mod:`wsbench.tasks.cdr` — ``make_cdr`` (chemical-induced disease = 1);
- :mod:`wsbench.tasks.chest_xray` — ``make_chest_xray`` (abnormal = 1, normal = 0);
- multi-task (``wsbench.multitask.MultitaskDataset``, for ``experiments/metal.py``):
  :mod:`wsbench.tasks.chest_xray_multitask` (abnormal, then the finding family) and
  :mod:`wsbench.tasks.chemprot_multitask` (WRENCH ChemProt: relation, then the relation type);
- :mod:`wsbench.tasks.cifar10` — ``make_cifar10`` (the 10,000-image JPEG mirror subset) and
  ``make_cifar10_full`` (all 50,000, fetched), and :mod:`wsbench.tasks.pneumoniamnist` —
  ``make_pneumoniamnist``: gold-labelled image tasks (``ImageTask``: labelled / unlabeled / test
  images) for the TANDA augmentation experiments (no LFs).

``datasets/tasks.md`` documents the splits and prints each task's ``lf_summary`` (regenerate with
``python -m wsbench.tasks.report``). Submodules are imported lazily (by Hydra's ``_target_``), so
importing this package is cheap.
"""
