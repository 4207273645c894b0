from reportbot.cli.main import main

main()
