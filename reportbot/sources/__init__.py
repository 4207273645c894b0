"""Where usage comes from: the AceData Cloud API, its body parser, the demo account."""
