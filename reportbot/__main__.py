from reportbot.cli.commands import main

main()
