"""Packages for setuptools; everything else is in pyproject.toml.

Every package under zjfin/ is found, so a new sub-package cannot be left out of a wheel,
and data_schemas/ at the top of the repository (the data contract) is added as the package
zjfin.data_schemas: pyproject.toml alone cannot combine automatic discovery with a package
that lives outside the zjfin/ folder.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["zjfin", "zjfin.*"]), "zjfin.data_schemas"])
