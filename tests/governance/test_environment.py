"""The numeric environment recorded with a release, and how two of them are compared."""

from credit_scoring.governance.environment import environment_differences, numeric_environment


def test_numeric_environment_names_cpu_blas_variables_and_packages(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Prescott")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    environment = numeric_environment()
    assert environment["cpu"] and len(environment["cpu_flags_sha256"]) in (7, 16)
    assert any(lib.startswith("openblas") for lib in environment["numeric_libraries"])
    assert environment["numeric_variables"] == {
        "OMP_NUM_THREADS": "3",
        "OPENBLAS_CORETYPE": "Prescott",
    }
    assert {"numpy", "scikit-learn", "lightgbm"} <= set(environment["packages"])
    assert environment_differences(environment, numeric_environment()) == []


def test_differences_are_named_key_by_key():
    recorded = {"cpu": "A", "packages": {"numpy": "2.0", "scipy": "1.0"}, "numeric_variables": {}}
    current = {
        "cpu": "B",
        "packages": {"numpy": "2.1", "scipy": "1.0"},
        "numeric_variables": {"OPENBLAS_CORETYPE": "Haswell"},
        "cpu_count": 8,  # not in the record: an older record format, not a difference
    }
    assert environment_differences(recorded, current) == [
        "cpu",
        "numeric_variables.OPENBLAS_CORETYPE",
        "packages.numpy",
    ]
