"""Competency frameworks, scales, trees, crosswalks, evidence and attainment."""
