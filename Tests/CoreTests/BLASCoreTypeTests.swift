import Core
import XCTest

/// When OpenBLAS's detection falls back to a generic kernel family, the CPU's flags pick the right one.
final class BLASCoreTypeTests: XCTestCase {
    let sapphireRapids: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_bf16"]
    let skylakeServer: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"]
    let haswell: Set<String> = ["sse3", "avx", "avx2", "fma"]

    func testGenericFallbackIsReplacedByTheCPUsFamily() {
        XCTAssertEqual(BLASInfo.betterCoreType(picked: "Prescott", cpuFlags: sapphireRapids, environment: [:]), "Cooperlake")
        XCTAssertEqual(BLASInfo.betterCoreType(picked: "Prescott", cpuFlags: skylakeServer, environment: [:]), "SkylakeX")
        XCTAssertEqual(BLASInfo.betterCoreType(picked: "Nehalem", cpuFlags: haswell, environment: [:]), "Haswell")
    }

    func testARecognisedCPUOrAUsersChoiceIsLeftAlone() {
        XCTAssertNil(BLASInfo.betterCoreType(picked: "Cooperlake", cpuFlags: sapphireRapids, environment: [:]))
        XCTAssertNil(BLASInfo.betterCoreType(picked: "Prescott", cpuFlags: sapphireRapids, environment: ["OPENBLAS_CORETYPE": "Prescott"]))
        XCTAssertNil(BLASInfo.betterCoreType(picked: "Prescott", cpuFlags: ["sse3", "avx"], environment: [:]), "no better family")
    }
}
