"""Mutation testing of ``manual/``: how many planted small bugs the property suite catches.

``python -m mutation run`` builds a scratch copy of the project (``workspace``), lets mutmut mutate
every function of ``manual/`` there and run, for each mutant, only the tests that call the mutated
function (mutmut traces that mapping once; ``selection`` cross-checks it against the registry),
then prints the score and the survivors (``report``), leaving out the mutants recorded as
equivalent in ``equivalents.toml`` (``equivalents``), which are matched by a description that
survives code motion (``describe``). Not part of the default test run or of CI.
"""
