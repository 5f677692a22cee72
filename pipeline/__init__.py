"""Scripts the pipeline's CodeBuild projects run (standard library only)."""
