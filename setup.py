"""The packages of the wheel: every package under bpviz/, and the top-level resources/ folder as
bpviz/_resources, where bpviz.resources finds it. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["bpviz", "bpviz.*"]) + ["bpviz._resources"],
      package_dir={"bpviz._resources": "resources"})
