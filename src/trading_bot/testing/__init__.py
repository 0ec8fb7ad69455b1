"""Test support usable by users' own tests: peers to compare against, fakes of venues."""
