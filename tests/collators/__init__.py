"""Tests of hf_seqmask.collators."""
