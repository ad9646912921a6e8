"""Runners, benchmarks, reports and plots."""
