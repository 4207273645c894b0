from reportbot.cli import main

main()
