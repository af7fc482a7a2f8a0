#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/time.h"

namespace certguard::log {
namespace {

std::mutex g_mu;
Format g_format = Format::kText;

std::string NowRfc3339() {
  return common::FormatRfc3339(
      std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now()), 3);
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

// spdlog creates its registry (and the default logger) on first use, inside the
// shared library. Reaching it first through a static of ours orders every
// thread's first log call after that creation in a way ThreadSanitizer can see
// (the library's own once-check is invisible to it).
spdlog::logger* DefaultLogger() {
  static spdlog::logger* const first = spdlog::default_logger_raw();
  (void)first;
  return spdlog::default_logger_raw();  // Init() may have replaced it since
}

void Emit(spdlog::level::level_enum lvl, std::string_view msg, const Fields& fields) {
  auto logger = DefaultLogger();
  if (!logger->should_log(lvl)) return;
  Format format;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    format = g_format;
  }
  auto name = spdlog::level::to_string_view(lvl);
  logger->log(lvl, "{}", Render(format, NowRfc3339(), std::string_view(name.data(), name.size()), msg, fields));
}

}  // namespace

std::string Render(Format format, std::string_view time, std::string_view level,
                   std::string_view msg, const Fields& fields) {
  if (format == Format::kJson) {
    nlohmann::ordered_json j;
    j["time"] = time;
    j["level"] = level;
    j["msg"] = msg;
    for (const auto& [k, v] : fields) j[k] = v;
    // Replace invalid UTF-8 rather than throw: a log line must never crash us.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line;
  line.append(time).append(" ").append(level).append(" ").append(msg);
  for (const auto& [k, v] : fields) {
    line.append(" ").append(k).append("=");
    if (NeedsQuotes(v)) {
      line.append(nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    } else {
      line.append(v);
    }
  }
  return line;
}

Status Init(std::string_view format, std::string_view level) {
  Format f;
  if (format == "text") {
    f = Format::kText;
  } else if (format == "json") {
    f = Format::kJson;
  } else {
    return InvalidArgument("unknown log format \"" + std::string(format) + "\" (want text or json)");
  }
  auto lvl = spdlog::level::from_str(std::string(level));
  // from_str maps anything unknown to off; only accept "off" when asked for.
  if (lvl == spdlog::level::off && level != "off") {
    return InvalidArgument("unknown log level \"" + std::string(level) + "\"");
  }
  auto logger = std::make_shared<spdlog::logger>(
      "certguard", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%v");  // Render() writes time and level itself.
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  std::lock_guard<std::mutex> lock(g_mu);
  g_format = f;
  return Status::Ok();
}

void Debug(std::string_view msg, const Fields& fields) { Emit(spdlog::level::debug, msg, fields); }
void Info(std::string_view msg, const Fields& fields) { Emit(spdlog::level::info, msg, fields); }
void Warn(std::string_view msg, const Fields& fields) { Emit(spdlog::level::warn, msg, fields); }
void Error(std::string_view msg, const Fields& fields) { Emit(spdlog::level::err, msg, fields); }

}  // namespace certguard::log
