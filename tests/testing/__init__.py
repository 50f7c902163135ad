"""Builders the tests share: real git repositories, workspaces with configs, the git oracle."""
