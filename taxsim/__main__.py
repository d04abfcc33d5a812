"""``python -m taxsim``: the command line."""

from taxsim.cli import main

if __name__ == "__main__":
    main()
