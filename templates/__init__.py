"""Troposphere modules that render the platform's CloudFormation templates.

Each stack module exposes a pure ``build(config) -> troposphere.Template``.
"""
