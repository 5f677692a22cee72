"""Deploy logic behind ``deploy.py``: package, upload, change sets, follow, recover.

Each module does one step and talks to AWS only through the clients of an
:class:`deployer.aws.Aws` it is given, so tests can point it at moto's server
or at botocore Stubbers.
"""
