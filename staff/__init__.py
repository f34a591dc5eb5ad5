"""Staff-only material: reference solution, mutants, grader, fixture builders, handout exporter. Never shipped."""
