from snekomatic.cli import main

main()
