"""Pure folds over the log: case state, the public register, reports (DESIGN.md B4, C6, C7).

``fold`` (the protocol and ``run``), ``cases`` (案件), ``register`` (一公开),
``workload``, ``progress``, ``compliance`` (C7), ``fairness`` and
``registry`` (``PROJECTIONS``, ``REPORT_KINDS``). Standard library and
``ledger``'s pure modules only: the verify tool imports this package (B2).
"""
