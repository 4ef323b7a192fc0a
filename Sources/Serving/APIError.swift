/// An error as the OpenAI API reports it: an HTTP status and
/// `{"error": {"message": ..., "type": ..., "param": ..., "code": ...}}`.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public init(status: Int, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { "\(status) \(type): \(message)" }

    public var json: JSONValue {
        .object([("error", .object([
            ("message", .string(message)),
            ("type", .string(type)),
            ("param", param.map(JSONValue.string) ?? .null),
            ("code", code.map(JSONValue.string) ?? .null),
        ]))])
    }

    /// 400: the request is malformed or a value is out of range.
    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    public static let unauthorized = APIError(
        status: 401, message: "missing or wrong API key: send the header 'Authorization: Bearer <key>'",
        type: "invalid_request_error", code: "invalid_api_key")

    public static func notFound(_ path: String) -> APIError {
        APIError(status: 404, message: "no such endpoint: \(path)", type: "invalid_request_error", code: "not_found")
    }

    public static func tooLarge(limit: Int) -> APIError {
        APIError(status: 413, message: "the request body is larger than the server's limit of \(limit) bytes",
                 type: "invalid_request_error", code: "request_too_large")
    }

    public static func busy(queued: Int) -> APIError {
        APIError(status: 503, message: "the server is busy: \(queued) requests are already waiting; retry later",
                 type: "server_error", code: "queue_full")
    }

    public static let shuttingDown = APIError(status: 503, message: "the server is shutting down", type: "server_error",
                                              code: "shutting_down")

    public static func timeout(seconds: Double) -> APIError {
        APIError(status: 504, message: "the request did not finish within the server's timeout of \(seconds) s",
                 type: "server_error", code: "timeout")
    }

    public static func internalError(_ message: String) -> APIError {
        APIError(status: 500, message: message, type: "server_error")
    }
}
