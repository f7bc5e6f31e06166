"""The answer key: oracles the harness trusts (losses.py) and formulations that check them."""
