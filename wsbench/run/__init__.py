"""Runners: one module per pipeline on a shared base.

``build`` (config -> objects) and ``job`` (the job lifecycle) are the public base every pipeline
(``labelmodel``, ``recovery``, ``endmodel``) uses; ``results``, ``logging`` and ``sweep`` store,
log and summarise results; ``keys`` lists the config keys that do not affect results.
"""
