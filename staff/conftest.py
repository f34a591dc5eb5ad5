"""Staff test data that is not to be collected: the hostile submissions contain their own tests/ and conftest.py on
purpose (staff/hostile runs them through the judge)."""

collect_ignore_glob = ["hostile/*"]
