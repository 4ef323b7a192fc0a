import ArgumentParser
import Model

/// `--arch gpt|lstm`.
extension Architecture: ExpressibleByArgument {}
