import Foundation
import Synchronization

/// SIGINT and SIGTERM while training: the first one only records itself, and the trainer saves a
/// checkpoint and stops after the step in progress. The handler then restores the default action, so a
/// second signal ends the process at once (the last committed checkpoint stays loadable either way).
enum StopSignals {
    private static let received = Atomic<Int32>(0)

    static func install() {
        for number in [SIGINT, SIGTERM] {
            // Only async-signal-safe work here: an atomic store and signal(2).
            signal(number) { caught in
                StopSignals.received.store(caught, ordering: .relaxed)
                signal(caught, SIG_DFL)
            }
        }
    }

    /// The signal that asked to stop, or nil.
    static var pending: Int32? {
        let value = received.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    static func name(_ number: Int32) -> String { number == SIGINT ? "SIGINT" : number == SIGTERM ? "SIGTERM" : "signal \(number)" }
}
