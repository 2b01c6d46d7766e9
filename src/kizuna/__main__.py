"""`python -m kizuna`: the same command line as the `kizuna` script."""

from kizuna.cli import main

if __name__ == "__main__":
    main()
