"""Health-check Lambda: the ECS blue/green gate, the pipeline smoke test and the canary.

One package, deployed twice (inside the VPC as the lifecycle hook, outside as the
canary).  The Lambda handler is ``health_check.handler.handler``: the zip must
hold this directory as ``health_check/`` at its root, because the modules import
each other relatively.
"""
