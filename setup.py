"""Only what pyproject.toml cannot say: the packages found under src/ plus the mapped models/ folder."""

from setuptools import find_packages, setup

setup(packages=[*find_packages("src"), "condgen.shipped_models"])
