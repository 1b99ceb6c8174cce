from autorun.cli import main

main()
