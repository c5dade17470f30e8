// The Kafka publisher from a URI, kafka://host:port[,...], plus key=value options.
#include <algorithm>
#include <set>
#include <string>
#include <string_view>

#include "core/uri/authority.hpp"
#include "core/uri/option_reader.hpp"
#include "kafka/detail.hpp"
#include "kafka/secrets.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/kafka/publisher.hpp"

namespace txoutbox::kafka {

namespace {

namespace uri_kit = txoutbox::detail::uri;

[[noreturn]] void bad_option(const std::string& key, const std::string& what) {
  throw txoutbox::detail::publisher_option_error(key, what);
}

/// One "host:port" or "[v6]:port" of the bootstrap list.
bool valid_host_port(std::string_view hp) {
  uri_kit::host_port parts;
  return uri_kit::check_host_port(hp, parts, /*port_required=*/true) ==
         uri_kit::authority_problem::none;
}

}  // namespace

publisher_options parse_publisher_uri(std::string_view uri,
                                      const std::map<std::string, std::string>& opts) {
  constexpr std::string_view scheme = "kafka://";
  if (!uri.starts_with(scheme)) {
    throw usage_error(errc::malformed_input, "publisher",
                      "kafka publisher URI must look like kafka://host:port[,host:port], got '" +
                          std::string(uri) + "'");
  }
  std::string_view servers = uri.substr(scheme.size());
  if (servers.ends_with("/"))
    servers.remove_suffix(1);
  if (servers.empty() || servers.find_first_of("/?#@") != std::string_view::npos) {
    throw usage_error(errc::malformed_input, "publisher",
                      "kafka publisher URI must look like kafka://host:port[,host:port], got '" +
                          std::string(uri) + "'");
  }
  std::size_t pos = 0;
  while (pos <= servers.size()) {
    const auto comma = std::min(servers.find(',', pos), servers.size());
    const auto hp = servers.substr(pos, comma - pos);
    if (!valid_host_port(hp)) {
      throw usage_error(errc::malformed_input, "publisher",
                        "kafka publisher URI: '" + std::string(hp) + "' is not host:port (in '" +
                            std::string(uri) + "')");
    }
    pos = comma + 1;
  }

  publisher_options o;
  o.bootstrap_servers = std::string(servers);
  std::set<std::string> property_sources;  // librdkafka keys already set, to refuse a clash
  const auto set_property = [&](const std::string& opt, const std::string& name,
                                std::string value) {
    if (name.empty())
      bad_option(opt, "needs a librdkafka property name after 'property.'");
    if (!property_sources.insert(name).second)
      bad_option(opt, "property '" + name + "' is given more than once");
    if (auto problem = detail::weakened_guarantee(name, value))
      bad_option(opt, *problem);
    o.properties[name] = std::move(value);
  };

  uri_kit::option_reader in(opts, "the kafka publisher");
  o.topic = in.take("topic").value_or(o.topic);
  o.topic_prefix = in.take("topic-prefix").value_or(o.topic_prefix);
  for (auto& [type, topic] : in.take_prefixed("topic-map.")) {
    if (type.empty())
      bad_option("topic-map.", "needs an aggregate type after 'topic-map.'");
    o.topic_map[type] = std::move(topic);
  }
  o.java_compatible_partitioner =
      in.take_bool("java-partitioner").value_or(o.java_compatible_partitioner);
  o.source = in.take_nonempty("source").value_or(o.source);
  o.delivery_timeout = in.take_ms("delivery-timeout-ms").value_or(o.delivery_timeout);
  for (const auto& [name, value] : in.take_prefixed("property.")) {
    const std::string key = "property." + name;
    if (name.ends_with("-env") || name.ends_with("-file")) {
      const std::string prop = name.substr(0, name.rfind('-'));
      set_property(key, prop, txoutbox::detail::read_secret_option(key, value));
    } else {
      if (txoutbox::detail::is_secret_property(name)) {
        bad_option(key, "secrets are not taken on the command line: use property." + name +
                            "-env=VARIABLE or property." + name + "-file=PATH");
      }
      set_property(key, name, value);
    }
  }
  in.finish(
      "topic, topic-prefix, topic-map.<aggregatetype>, java-partitioner, source, "
      "delivery-timeout-ms, property.<librdkafka key>[-env|-file]");
  return o;
}

std::unique_ptr<txoutbox::publisher> make_publisher_from_uri(
    std::string_view uri, const std::map<std::string, std::string>& opts) {
  return make_publisher(parse_publisher_uri(uri, opts));
}

}  // namespace txoutbox::kafka
