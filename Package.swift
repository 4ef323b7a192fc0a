// swift-tools-version:6.1
import PackageDescription

// Release builds target the build machine's CPU: without it Swift's SIMD types lower to scalar
// `fmaf` calls (see ../shared/PERF-NOTES.md), about 50x slower in the hand-written kernels.
let nativeCPU: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "native"])]

let package = Package(
    name: "MiniGPT",
    products: [
        .executable(name: "minigpt", targets: ["minigpt"]),
    ],
    // `swift build --traits MPI` links Open MPI so that `mpirun -np N minigpt train` trains on N ranks;
    // the default build needs no MPI.
    traits: [
        .trait(name: "MPI", description: "Data-parallel training across processes and machines with Open MPI (libopenmpi-dev)."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // HTTP for `minigpt serve` only; the Serving target is the one place that imports it.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.14.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        .target(name: "Core", dependencies: ["CBLAS"], swiftSettings: nativeCPU),
        .target(name: "Tokenizers", dependencies: ["Core"], swiftSettings: nativeCPU),
        // SVG line charts, for the alignment report and the benchmarks; depends on nothing.
        .target(name: "Plotting"),
        .target(name: "Model", dependencies: ["Core", "Tokenizers"], swiftSettings: nativeCPU),
        .target(name: "Generation", dependencies: ["Core", "Model", "Tokenizers"], swiftSettings: nativeCPU),
        .target(name: "Training", dependencies: ["Core", "Model", "Tokenizers"], swiftSettings: nativeCPU),
        .target(name: "MultiProcess",
                dependencies: ["Training", .target(name: "CMPI", condition: .when(traits: ["MPI"]))],
                swiftSettings: nativeCPU),
        .target(name: "Accounting", dependencies: ["Core", "Model"], swiftSettings: nativeCPU),
        .target(name: "Interop", dependencies: ["Core", "Model", "Tokenizers", "Generation"], swiftSettings: nativeCPU),
        .target(name: "Benchmarking", dependencies: ["Core", "Model", "Tokenizers", "Training", "Plotting"], swiftSettings: nativeCPU),
        .target(name: "Serving", dependencies: ["Core", "Model", "Tokenizers", "Generation",
                                                .product(name: "Hummingbird", package: "hummingbird"),
                                                .product(name: "Logging", package: "swift-log")],
                swiftSettings: nativeCPU),
        // Alignment: the algorithms (SFT, reward model, PPO, DPO) over generic records; Tasks: a task world (data,
        // judge, evaluation); Pipeline: the stages in order and the report. Imports point Pipeline -> Tasks -> Alignment.
        .target(name: "Alignment", dependencies: ["Core", "Model", "Tokenizers", "Training", "Generation"],
                swiftSettings: nativeCPU),
        .target(name: "Tasks", dependencies: ["Alignment", "Core", "Model"], swiftSettings: nativeCPU),
        .target(name: "Pipeline", dependencies: ["Alignment", "Tasks", "Core", "Model", "Tokenizers", "Training", "Generation", "Plotting"],
                swiftSettings: nativeCPU),
        .executableTarget(
            name: "minigpt",
            dependencies: [
                "Core", "Tokenizers", "Model", "Generation", "Training", "Accounting", "Benchmarking", "Interop", "Alignment",
                "MultiProcess", "Serving", "Tasks", "Pipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: nativeCPU
        ),
        .target(name: "TestSupport", dependencies: ["Core", "Model"], path: "Tests/TestSupport", swiftSettings: nativeCPU),
        .testTarget(name: "CoreTests", dependencies: ["Core", "TestSupport"], resources: [.copy("Fixtures")],
                    swiftSettings: nativeCPU),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Core", "Tokenizers", "TestSupport"], swiftSettings: nativeCPU),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Model", "Core", "Tokenizers", "TestSupport"],
                    swiftSettings: nativeCPU),
        // Runs the built `minigpt` binary to check what a user sees on bad input.
        .testTarget(name: "CLITests", dependencies: ["minigpt", "Core", "Model", "TestSupport"], swiftSettings: nativeCPU),
        // Seeded fuzzing of every subcommand's flags against the built binary (MINIGPT_CLI_FUZZ_CASES scales it up).
        .testTarget(name: "CLIFuzzTests", dependencies: ["minigpt", "Core", "TestSupport"], swiftSettings: nativeCPU),
        .testTarget(name: "AccountingTests", dependencies: ["Accounting", "Model", "Core", "TestSupport"],
                    swiftSettings: nativeCPU),
        .testTarget(name: "InteropTests", dependencies: ["Interop", "Model", "Core", "Tokenizers", "Generation", "TestSupport"],
                    resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        // Seeded mutation fuzzing of every loader (bounded; MINIGPT_FUZZ_ITERATIONS scales it up).
        .testTarget(name: "FuzzTests", dependencies: ["Interop", "Training", "Model", "Tokenizers", "Core", "TestSupport"],
                    swiftSettings: nativeCPU),
        .testTarget(name: "BenchmarkingTests", dependencies: ["Benchmarking", "Model", "Core", "Tokenizers", "TestSupport"],
                    swiftSettings: nativeCPU),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "Model", "Core", "Tokenizers", "TestSupport"],
                    swiftSettings: nativeCPU),
        // Live servers on loopback, spoken to through a raw socket client (TestSupport's HTTPConnection).
        .testTarget(name: "ServingTests", dependencies: ["Serving", "Generation", "Model", "Core", "Tokenizers", "TestSupport"],
                    swiftSettings: nativeCPU),
        // AlignmentTests draws its data from the toy world; the Alignment library itself never imports it.
        .testTarget(name: "AlignmentTests", dependencies: ["Alignment", "Tasks", "Generation", "Training", "Model", "Core", "Tokenizers", "TestSupport"],
                    swiftSettings: nativeCPU),
        .testTarget(name: "TasksTests", dependencies: ["Tasks", "Alignment", "Core", "TestSupport"], swiftSettings: nativeCPU),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Tasks", "Alignment", "Model", "Core", "Plotting", "TestSupport"],
                    swiftSettings: nativeCPU),
    ],
    swiftLanguageModes: [.v5]
)
